from django.contrib import admin

from .models import Goods


@admin.register(Goods)
class GoodsAdmin(admin.ModelAdmin):
    list_display = ["name", "price", "sold", "is_active"]
    list_editable = ["is_active"]
