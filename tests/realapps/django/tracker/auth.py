# SPDX-License-Identifier: MIT
# Apart from tracker/api.py: DRF imports its authentication classes while it loads its views.
from rest_framework.authentication import TokenAuthentication


class HeaderTokenAuthentication(TokenAuthentication):
    """DRF's token check, with the token in X-Api-Token instead of Authorization."""

    def authenticate(self, request):
        key = request.META.get("HTTP_X_API_TOKEN")
        if not key:
            return None
        return self.authenticate_credentials(key)

    def authenticate_header(self, request):
        return "X-Api-Token"
