# Daily bill reconciliation (zhifu.bills): one report per provider and bill date, and the
# discrepancies it found with the bill lines that caused them.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("zhifu", "0005_payment_links")]

    operations = [
        migrations.CreateModel(
            name='ReconciliationReport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('provider', models.CharField(max_length=16, verbose_name='provider')),
                ('bill_date', models.DateField(db_index=True, verbose_name='bill date')),
                ('status', models.CharField(choices=[('running', 'running'), ('balanced', 'balanced'), ('discrepancies', 'discrepancies found'), ('failed', 'failed (bill not available)')], db_index=True, default='running', max_length=16, verbose_name='status')),
                ('runs', models.PositiveIntegerField(default=1, verbose_name='runs')),
                ('started_at', models.DateTimeField(verbose_name='started at')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                ('bill_files', models.JSONField(blank=True, default=list, verbose_name='bill files')),
                ('bill_payments', models.PositiveIntegerField(default=0, verbose_name='payments in the bill')),
                ('bill_refunds', models.PositiveIntegerField(default=0, verbose_name='refunds in the bill')),
                ('bill_payment_total', models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='payment total in the bill')),
                ('bill_refund_total', models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='refund total in the bill')),
                ('bill_fee_total', models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name="fee total of the bill's lines")),
                ('stated_fee_totals', models.JSONField(blank=True, default=dict, verbose_name='fee totals stated by the gateway')),
                ('site_payment_total', models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='payment total here')),
                ('site_refund_total', models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='refund total here')),
                ('error', models.TextField(blank=True, verbose_name='error')),
            ],
            options={
                'verbose_name': 'reconciliation report',
                'verbose_name_plural': 'reconciliation reports',
                'ordering': ('-bill_date', 'provider'),
                'constraints': [models.UniqueConstraint(fields=('provider', 'bill_date'), name='zhifu_one_report_per_provider_day')],
            },
        ),
        migrations.CreateModel(
            name='Discrepancy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('paid_not_here', 'paid there, not here'), ('unknown_trade', 'unknown trade'), ('amount_differs', 'amount differs'), ('not_in_bill', 'paid here, not in the bill'), ('refund_missing', 'refund missing here'), ('refund_not_in_bill', 'refund not in the bill'), ('fee_total', 'fee totals differ'), ('ledger', 'ledger entry missing')], db_index=True, max_length=24, verbose_name='kind')),
                ('out_trade_no', models.CharField(blank=True, db_index=True, max_length=64, verbose_name='payment number')),
                ('gateway_trade_no', models.CharField(blank=True, max_length=64, verbose_name='gateway trade number')),
                ('out_refund_no', models.CharField(blank=True, max_length=64, verbose_name='refund number')),
                ('bill_amount', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name='amount in the bill')),
                ('site_amount', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name='amount here (or the sum of the lines)')),
                ('detail', models.TextField(blank=True, verbose_name='detail')),
                ('lines', models.JSONField(blank=True, default=list, verbose_name='bill lines')),
                ('resolution', models.CharField(choices=[('open', 'open (for a person to look at)'), ('applied', 'applied through the payment pipeline'), ('not_applied', 'could not be applied')], default='open', max_length=16, verbose_name='resolution')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('attempt', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='zhifu.paymentattempt', verbose_name='payment attempt')),
                ('refund', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='zhifu.refund', verbose_name='refund')),
                ('report', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='discrepancies', to='zhifu.reconciliationreport', verbose_name='report')),
            ],
            options={
                'verbose_name': 'discrepancy',
                'verbose_name_plural': 'discrepancies',
                'ordering': ('report', 'kind', 'out_trade_no', 'id'),
            },
        ),
    ]
