from facefusion.types import Locales

LOCALES : Locales =\
{
	'en':
	{
		'help':
		{
			'model': 'choose the model responsible for aging the face',
			'direction': 'specify the direction in which the age should be modified'
		},
		'uis':
		{
			'direction_slider': 'AGE MODIFIER DIRECTION',
			'model_dropdown': 'AGE MODIFIER MODEL'
		}
	}
}
