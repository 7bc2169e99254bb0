"""crm-touch's pure rules: phone matching, caller identification and the touch life cycle.

No I/O and no framework imports here; everything is plain data in, plain data out.
"""
