"""Adapters: implementations of the ports in `wattline.ports`.

Import the module you need (`wattline.adapters.fs_store`, `wattline.adapters.s3_store`, ...): each adapter module
imports its SDK itself, so importing this package pulls in no cloud SDK and performs no I/O.
"""
