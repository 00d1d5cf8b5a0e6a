from django.apps import AppConfig


class VisionConfig(AppConfig):
    name = "vision"
    verbose_name = "Scene vision and search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from analysis.extensions import register_parameter_cleaner, register_scene_extra
        from vision.conf import vision_parameters_clean
        from vision.selectors import scene_extras

        register_scene_extra(scene_extras)
        register_parameter_cleaner(vision_parameters_clean)
