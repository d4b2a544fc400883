from django.db import models


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    active = models.BooleanField(default=True)
    max_quantity = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.title
