from django.urls import path

from . import views

urlpatterns = [
    path("", views.course_list, name="courses"),
    path("<int:pk>/", views.course_detail, name="course-detail"),
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart-add"),
    path("checkout/", views.checkout, name="checkout"),
    path("mine/", views.my_courses, name="my-courses"),
    path("coupons/", views.my_coupons, name="my-coupons"),
]
