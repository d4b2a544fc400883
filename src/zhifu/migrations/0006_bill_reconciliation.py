from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("zhifu", "0005_payment_links")]

    operations = []
