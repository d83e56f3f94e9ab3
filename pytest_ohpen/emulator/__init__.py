"""The embedded AWS account: moto's server on loopback, provisioned with the data-lake stack.

``stack`` describes what the account holds (pure data), ``provision`` creates it
through boto3, ``server`` runs moto's server. moto is imported only when an
emulated environment is used.
"""
