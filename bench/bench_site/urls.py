"""The demo's URLs plus the reference endpoints the benchmarks compare Zhifu against."""

from demo_site.urls import urlpatterns as demo_urlpatterns
from django.urls import path

from . import views

urlpatterns = [
    path("bench/bare/", views.bare),
    path("bench/ref/checkout/", views.ref_checkout),
    path("bench/ref/notify/", views.ref_notify),
    path("bench/tutorial/notify/", views.tutorial_notify),
    *demo_urlpatterns,
]
