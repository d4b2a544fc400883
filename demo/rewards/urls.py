from django.urls import path

from . import views

urlpatterns = [
    path("", views.article_list, name="articles"),
    path("<int:pk>/", views.article_detail, name="article-detail"),
    path("<int:pk>/reward/", views.reward, name="article-reward"),
]
