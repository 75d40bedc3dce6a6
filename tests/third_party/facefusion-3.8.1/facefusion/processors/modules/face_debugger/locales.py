from facefusion.types import Locales

LOCALES : Locales =\
{
	'en':
	{
		'help':
		{
			'items': 'load a single or multiple processors (choices: {choices})'
		},
		'uis':
		{
			'items_checkbox_group': 'FACE DEBUGGER ITEMS'
		}
	}
}
