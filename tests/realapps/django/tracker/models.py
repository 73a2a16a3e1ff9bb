# SPDX-License-Identifier: MIT
# A Project per tenant; a Thing belongs to a project (its change form has a <select> with the
# project pre-selected) and has a file (so the admin's form posts multipart/form-data). Every
# save of a Thing appends a row to Audit: which thing, in which project, under which name.
from django.db import models


class Project(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self):
        return self.name


class Thing(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    attachment = models.FileField(upload_to="things", blank=True)

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        Audit.objects.create(thing_id=self.pk, project_id=self.project_id, name=self.name)


class Audit(models.Model):
    thing_id = models.IntegerField()
    project_id = models.IntegerField()
    name = models.CharField(max_length=100)
