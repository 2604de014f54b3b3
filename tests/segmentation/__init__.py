"""Tests of segmentation/: features, personas, profiles, comparison and the command line."""
