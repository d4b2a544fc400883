from django.urls import path

from . import api

urlpatterns = [
    path("catalog/", api.CatalogView.as_view(), name="api-catalog"),
    path("articles/", api.ArticleListView.as_view(), name="api-articles"),
    # <str:pk>, not <int:pk>: see zhifu.api.paths
    path("articles/<str:pk>/", api.ArticleDetailView.as_view(), name="api-article"),
    path("articles/<str:pk>/rewards/", api.ArticleRewardView.as_view(), name="api-article-rewards"),
    path("me/coupons/", api.MyCouponsView.as_view(), name="api-my-coupons"),
    path("courses/quote/", api.CourseQuoteView.as_view(), name="api-course-quote"),
    path("courses/checkout/", api.CourseCheckoutView.as_view(), name="api-course-checkout"),
]
