from django.urls import path

from . import views

urlpatterns = [
    path("", views.goods_list, name="shop"),
    path("<int:pk>/buy/", views.buy_now, name="goods-buy"),
]
