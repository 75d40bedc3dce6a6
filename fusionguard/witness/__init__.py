"""Witnessed checkpoints (C2SP tlog-witness, tlog-cosignature, tlog-policy).

``server`` is a witness (``fusionguard witness serve``); ``client`` submits the log's checkpoints to
the witnesses of a policy in a background thread and stores their cosignatures; ``policy`` reads the
tlog-policy file that names the witnesses and the quorum.
"""
