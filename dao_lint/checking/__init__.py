"""Checking one file: the engine (decode, prefilter, parse once, the analysis providers
batched, every rule in one pass, noqa) and the rule documentation generated from the rules'
own examples.

May import: rules, model, analysis, foundations.
"""
