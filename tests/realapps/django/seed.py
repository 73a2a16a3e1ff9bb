# SPDX-License-Identifier: MIT
# Fills a fresh database for the Django admin test:
#   seed.py PROJECTS THINGS PASSWORD
# creates the superuser "admin" with PASSWORD, projects 1..PROJECTS named other-N and things
# 1..THINGS named other-thing-N, thing N in project ((N - 1) % PROJECTS) + 1, so the next
# project gets id PROJECTS + 1 and the next thing THINGS + 1. Run with DJANGO_SETTINGS_MODULE
# and REALAPP_DB set, after migrate.
import sys

import django

django.setup()
from django.contrib.auth.models import User  # noqa: E402

from tracker.models import Audit, Project, Thing  # noqa: E402

projects, things, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
User.objects.create_superuser("admin", "admin@example.test", password)
for i in range(1, projects + 1):
    Project.objects.create(id=i, name=f"other-{i}")
for i in range(1, things + 1):
    Thing.objects.create(id=i, name=f"other-thing-{i}", project_id=(i - 1) % projects + 1)
Audit.objects.all().delete()
