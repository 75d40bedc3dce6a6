from facefusion.types import Locales

LOCALES : Locales =\
{
	'en':
	{
		'help':
		{
			'model': 'choose the model responsible for removing the background',
			'fill_color': 'apply red, green, blue and alpha values to the background',
			'despill_color': 'remove red, green, blue and alpha values from the foreground'
		},
		'uis':
		{
			'model_dropdown': 'BACKGROUND REMOVER MODEL',
			'fill_color_red_number': 'FILL COLOR RED',
			'fill_color_green_number': 'FILL COLOR GREEN',
			'fill_color_blue_number': 'FILL COLOR BLUE',
			'fill_color_alpha_number': 'FILL COLOR ALPHA',
			'despill_color_red_number': 'DESPILL COLOR RED',
			'despill_color_green_number': 'DESPILL COLOR GREEN',
			'despill_color_blue_number': 'DESPILL COLOR BLUE',
			'despill_color_alpha_number': 'DESPILL COLOR ALPHA'
		}
	}
}
