# The provider seam: channels are validated by the provider registry, not database choices;
# notifications keep the body once (with its size and digest) and what the verified event said.

import hashlib
from typing import Any

from django.db import migrations, models


def measure_bodies(apps: Any, schema_editor: Any) -> None:
    Notification = apps.get_model("zhifu", "Notification")
    for note in Notification.objects.only("pk", "body").iterator():
        data = note.body.encode("utf-8")
        Notification.objects.filter(pk=note.pk).update(
            body_size=len(data), body_sha256=hashlib.sha256(data).hexdigest()
        )


class Migration(migrations.Migration):

    dependencies = [
        ('zhifu', '0003_idempotency'),
    ]

    operations = [
        migrations.RenameField(
            model_name='notification',
            old_name='notify_id',
            new_name='event_id',
        ),
        migrations.RemoveField(
            model_name='notification',
            name='params',
        ),
        migrations.RenameField(
            model_name='notification',
            old_name='trade_status',
            new_name='state',
        ),
        migrations.AddField(
            model_name='notification',
            name='body_sha256',
            field=models.CharField(blank=True, max_length=64, verbose_name='body SHA-256'),
        ),
        migrations.AddField(
            model_name='notification',
            name='body_size',
            field=models.PositiveIntegerField(default=0, verbose_name='body size'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='event_id',
            field=models.CharField(blank=True, max_length=128, verbose_name="gateway's event ID"),
        ),
        migrations.AlterField(
            model_name='notification',
            name='state',
            field=models.CharField(blank=True, max_length=32, verbose_name='what it said'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='provider',
            field=models.CharField(max_length=16, verbose_name='provider'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='reason',
            field=models.CharField(blank=True, max_length=64, verbose_name='reason'),
        ),
        migrations.AlterField(
            model_name='paymentattempt',
            name='channel',
            field=models.CharField(max_length=16, verbose_name='payment method'),
        ),
        migrations.AlterField(
            model_name='paymentattempt',
            name='closed_at_gateway',
            field=models.BooleanField(default=False, verbose_name='closed at the gateway'),
        ),
        migrations.AlterField(
            model_name='paymentattempt',
            name='trade_no',
            field=models.CharField(blank=True, max_length=64, verbose_name='gateway trade number'),
        ),
        migrations.RunPython(measure_bodies, migrations.RunPython.noop),
    ]
