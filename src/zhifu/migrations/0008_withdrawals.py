import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("zhifu", "0007_refund_requests"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="ledgerentry",
            name="kind",
            field=models.CharField(
                choices=[
                    ("topup", "top-up"),
                    ("payment", "payment"),
                    ("reward_income", "reward income"),
                    ("refund", "refund"),
                    ("adjustment", "adjustment"),
                    ("withdrawal", "withdrawal"),
                    ("withdrawal_back", "withdrawal returned"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.CreateModel(
            name="Withdrawal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "amount",
                    models.DecimalField(decimal_places=2, max_digits=12, verbose_name="amount"),
                ),
                ("provider", models.CharField(max_length=32, verbose_name="provider")),
                (
                    "payee_type",
                    models.CharField(
                        choices=[
                            ("login", "account name (e-mail or phone)"),
                            ("user_id", "user id"),
                        ],
                        max_length=16,
                        verbose_name="payee type",
                    ),
                ),
                ("payee", models.CharField(max_length=100, verbose_name="payee account")),
                (
                    "payee_name",
                    models.CharField(blank=True, max_length=64, verbose_name="payee name"),
                ),
                (
                    "out_biz_no",
                    models.CharField(max_length=64, unique=True, verbose_name="withdrawal number"),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("requested", "waiting for approval"),
                            ("approved", "approved"),
                            ("sent", "sent"),
                            ("succeeded", "paid out"),
                            ("failed", "failed"),
                            ("unknown", "outcome unknown"),
                        ],
                        db_index=True,
                        default="requested",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                (
                    "gateway_no",
                    models.CharField(blank=True, max_length=64, verbose_name="gateway order id"),
                ),
                (
                    "error_code",
                    models.CharField(blank=True, max_length=64, verbose_name="error code"),
                ),
                (
                    "error_message",
                    models.CharField(blank=True, max_length=256, verbose_name="error message"),
                ),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                (
                    "decided_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="decided at"),
                ),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                (
                    "finished_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="finished at"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True, db_index=True, verbose_name="created at"
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "hold_entry",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="withdrawal_held",
                        to="zhifu.ledgerentry",
                        verbose_name="hold entry",
                    ),
                ),
                (
                    "return_entry",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="withdrawal_returned",
                        to="zhifu.ledgerentry",
                        verbose_name="return entry",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="zhifu_withdrawals",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "withdrawal",
                "verbose_name_plural": "withdrawals",
                "ordering": ("-created_at", "-id"),
                "permissions": [("approve_withdrawal", "Can approve or reject withdrawals")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount__gt", 0)), name="zhifu_withdrawal_positive"
                    )
                ],
            },
        ),
    ]
