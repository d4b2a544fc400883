from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("zhifu", "0006_bill_reconciliation")]

    operations = []
