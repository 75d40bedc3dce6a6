from facefusion.types import Locales

LOCALES : Locales =\
{
	'en':
	{
		'help':
		{
			'model': 'choose the model responsible for editing the face',
			'eyebrow_direction': 'specify the eyebrow direction',
			'eye_gaze_horizontal': 'specify the horizontal eye gaze',
			'eye_gaze_vertical': 'specify the vertical eye gaze',
			'eye_open_ratio': 'specify the ratio of eye opening',
			'lip_open_ratio': 'specify the ratio of lip opening',
			'mouth_grim': 'specify the mouth grim',
			'mouth_pout': 'specify the mouth pout',
			'mouth_purse': 'specify the mouth purse',
			'mouth_smile': 'specify the mouth smile',
			'mouth_position_horizontal': 'specify the horizontal mouth position',
			'mouth_position_vertical': 'specify the vertical mouth position',
			'head_pitch': 'specify the head pitch',
			'head_yaw': 'specify the head yaw',
			'head_roll': 'specify the head roll'
		},
		'uis':
		{
			'eyebrow_direction_slider': 'FACE EDITOR EYEBROW DIRECTION',
			'eye_gaze_horizontal_slider': 'FACE EDITOR EYE GAZE HORIZONTAL',
			'eye_gaze_vertical_slider': 'FACE EDITOR EYE GAZE VERTICAL',
			'eye_open_ratio_slider': 'FACE EDITOR EYE OPEN RATIO',
			'head_pitch_slider': 'FACE EDITOR HEAD PITCH',
			'head_roll_slider': 'FACE EDITOR HEAD ROLL',
			'head_yaw_slider': 'FACE EDITOR HEAD YAW',
			'lip_open_ratio_slider': 'FACE EDITOR LIP OPEN RATIO',
			'model_dropdown': 'FACE EDITOR MODEL',
			'mouth_grim_slider': 'FACE EDITOR MOUTH GRIM',
			'mouth_position_horizontal_slider': 'FACE EDITOR MOUTH POSITION HORIZONTAL',
			'mouth_position_vertical_slider': 'FACE EDITOR MOUTH POSITION VERTICAL',
			'mouth_pout_slider': 'FACE EDITOR MOUTH POUT',
			'mouth_purse_slider': 'FACE EDITOR MOUTH PURSE',
			'mouth_smile_slider': 'FACE EDITOR MOUTH SMILE'
		}
	}
}
