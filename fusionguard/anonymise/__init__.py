"""Bystander anonymisation: unrecognisable faces, originals sealed to the admin's offline key.

See :mod:`fusionguard.anonymise.bystanders` for how the Guard uses it, :mod:`.methods` for the
methods, :mod:`.sealing` for the encryption and :mod:`.recovery` for getting the originals back.
"""

from fusionguard.anonymise.anonymiser import Anonymiser
from fusionguard.anonymise.recovery import recover_image, shred_record
from fusionguard.anonymise.sealing import generate_recovery_key, recovery_key_id, write_recovery_keys
from fusionguard.errors import AnonymisationFailed

__all__ = [
    "AnonymisationFailed",
    "Anonymiser",
    "generate_recovery_key",
    "recover_image",
    "recovery_key_id",
    "shred_record",
    "write_recovery_keys",
]
