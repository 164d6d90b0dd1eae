"""The product catalog: products, prices and the pricing models that rate them."""
