from facefusion.types import Locales

LOCALES : Locales =\
{
	'en':
	{
		'help':
		{
			'model': 'choose the model responsible for enhancing the face',
			'blend': 'blend the enhanced into the previous face',
			'weight': 'specify the degree of weight applied to the face'
		},
		'uis':
		{
			'blend_slider': 'FACE ENHANCER BLEND',
			'model_dropdown': 'FACE ENHANCER MODEL',
			'weight_slider': 'FACE ENHANCER WEIGHT'
		}
	}
}
