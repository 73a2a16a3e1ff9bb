# SPDX-License-Identifier: MIT
# A JSON API on Django REST framework (python3-djangorestframework from Debian) for
# tests/integration/test_realapp_drf.sh. DRF's own token view issues the token
# (POST /api/token/ -> {"token": ...}); requests send it back in a custom header, X-Api-Token,
# checked by DRF's own TokenAuthentication (tracker/auth.py). Objects carry their "url". The board of a project
# is a map keyed by its things' ids, as many real APIs answer ("things_by_id": {"4": {...}}).
from django.urls import include, path
from rest_framework import routers, serializers, viewsets
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.decorators import action
from rest_framework.response import Response

from .models import Project, Thing


class ProjectSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="project-detail")

    class Meta:
        model = Project
        fields = ["id", "url", "name"]


class ThingSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="thing-detail")

    class Meta:
        model = Thing
        fields = ["id", "url", "name", "project"]


class ProjectViewSet(viewsets.ModelViewSet):
    queryset = Project.objects.order_by("id")
    serializer_class = ProjectSerializer

    @action(detail=True)
    def board(self, request, pk=None):
        things = Thing.objects.filter(project_id=self.get_object().pk).order_by("id")
        return Response({
            "project": int(pk),
            "things": [{"id": t.pk, "name": t.name} for t in things],
            "things_by_id": {str(t.pk): {"name": t.name, "project": t.project_id} for t in things},
        })


class ThingViewSet(viewsets.ModelViewSet):
    queryset = Thing.objects.order_by("id")
    serializer_class = ThingSerializer


router = routers.DefaultRouter()
router.register("projects", ProjectViewSet)
router.register("things", ThingViewSet)
urlpatterns = [
    path("api/token/", obtain_auth_token),
    path("api/", include(router.urls)),
]
