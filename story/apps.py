from django.apps import AppConfig


class StoryConfig(AppConfig):
    """Scene graph, storylines with relevance, interest scores and editors' corrections."""

    name = "story"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from analysis.extensions import register_scene_extra
        from story.selectors import result_scene_extras

        register_scene_extra(result_scene_extras)
