from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("zhifu", "0004_providers_seam")]

    operations = []
