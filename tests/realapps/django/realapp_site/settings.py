# SPDX-License-Identifier: MIT
# The smallest Django project that serves Django's own admin (python3-django from Debian) for
# tests/integration/test_realapp_django.sh: one app, tracker, with a Project per tenant and
# Things that belong to a project. The database is the SQLite file in $REALAPP_DB.
import os

SECRET_KEY = "reprise-realapp-test-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "tracker",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "realapp_site.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["REALAPP_DB"]}}
MEDIA_ROOT = os.environ.get("REALAPP_MEDIA", "/tmp")
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
STATIC_URL = "/static/"
# Django REST framework (python3-djangorestframework), when installed: tracker/api.py.
try:
    import rest_framework  # noqa: F401

    INSTALLED_APPS += ["rest_framework", "rest_framework.authtoken"]
    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["tracker.auth.HeaderTokenAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    }
except ImportError:
    pass
# Fast hashing: the tests log in a few times per run.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
