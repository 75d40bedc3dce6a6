from facefusion.types import Locales

LOCALES : Locales =\
{
	'en':
	{
		'help':
		{
			'model': 'choose the model responsible for swapping the face',
			'morph': 'morph between source face and target faces'
		},
		'uis':
		{
			'model_dropdown': 'DEEP SWAPPER MODEL',
			'morph_slider': 'DEEP SWAPPER MORPH'
		}
	}
}
