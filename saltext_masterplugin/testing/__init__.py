"""
Test and demo helpers: a RaaS double that speaks the real protocol on loopback, and a builder
for sample plugin wheels.  Product code never imports this package.
"""
