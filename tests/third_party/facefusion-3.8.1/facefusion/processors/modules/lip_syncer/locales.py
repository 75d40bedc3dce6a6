from facefusion.types import Locales

LOCALES : Locales =\
{
	'en':
	{
		'help':
		{
			'model': 'choose the model responsible for syncing the lips',
			'weight': 'specify the degree of weight applied to the lips'
		},
		'uis':
		{
			'model_dropdown': 'LIP SYNCER MODEL',
			'weight_slider': 'LIP SYNCER WEIGHT'
		}
	}
}
