# SPDX-License-Identifier: MIT
from django.contrib import admin

from .models import Project, Thing

admin.site.register(Project)
admin.site.register(Thing, list_display=("name", "project"))
