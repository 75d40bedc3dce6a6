from facefusion.types import Locales

LOCALES : Locales =\
{
	'en':
	{
		'help':
		{
			'model': 'choose the model responsible for enhancing the frame',
			'blend': 'blend the enhanced into the previous frame'
		},
		'uis':
		{
			'blend_slider': 'FRAME ENHANCER BLEND',
			'model_dropdown': 'FRAME ENHANCER MODEL'
		}
	}
}
