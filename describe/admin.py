from django.contrib import admin

from describe.models import CallbackDelivery, DescribeClient, DescribeJob, DescriptionResult


@admin.register(DescribeClient)
class DescribeClientAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "token_prefix", "callback_url", "allow_private_urls")
    exclude = ("token_hash", "secret")  # tokens come from services.client_create


@admin.register(DescribeJob)
class DescribeJobAdmin(admin.ModelAdmin):
    list_display = ("id", "client", "status", "progress", "created_at")
    list_filter = ("status",)


admin.site.register(DescriptionResult)
admin.site.register(CallbackDelivery)
