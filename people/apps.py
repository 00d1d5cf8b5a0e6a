from django.apps import AppConfig


class PeopleConfig(AppConfig):
    """Who is in each scene: face characters and voice speakers."""

    name = "people"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from analysis.extensions import (
            register_audio_extra,
            register_parameter_cleaner,
            register_scene_extra,
        )
        from people import signals  # noqa: F401
        from people.conf import people_parameters_clean
        from people.selectors import people_scene_extra, speakers_audio_extra

        register_scene_extra(people_scene_extra)
        register_audio_extra(speakers_audio_extra)
        register_parameter_cleaner(people_parameters_clean)
