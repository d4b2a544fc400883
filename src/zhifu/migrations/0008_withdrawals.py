from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("zhifu", "0007_refund_requests")]

    operations = []
