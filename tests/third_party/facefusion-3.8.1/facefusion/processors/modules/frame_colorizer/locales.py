from facefusion.types import Locales

LOCALES : Locales =\
{
	'en':
	{
		'help':
		{
			'model': 'choose the model responsible for colorizing the frame',
			'size': 'specify the frame size provided to the frame colorizer',
			'blend': 'blend the colorized into the previous frame'
		},
		'uis':
		{
			'blend_slider': 'FRAME COLORIZER BLEND',
			'model_dropdown': 'FRAME COLORIZER MODEL',
			'size_dropdown': 'FRAME COLORIZER SIZE'
		}
	}
}
