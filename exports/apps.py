from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """Per-storyline cuts, edit lists, subtitles and data files, made as background jobs."""

    name = "exports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exports import signals  # noqa: F401  (deletes export files with their rows)
        from exports.jobs import EXPORT_JOBS
        from videoanalyzer.jobs import register

        register(EXPORT_JOBS)  # leased, and recovered after a crash
