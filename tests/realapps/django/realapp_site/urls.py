# SPDX-License-Identifier: MIT
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
try:
    import rest_framework  # noqa: F401
except ImportError:
    pass
else:
    from tracker.api import urlpatterns as api

    urlpatterns += api
