"""porch-py's benchmark (``make bench``): porch-server's speed against Porch's and git's.

``python -m test.bench --scale small|full`` seeds a repository in Porch's git layout, starts
a real ``porch-server --standalone``, drives it over HTTPS like a user's client and prints
its figures beside the targets of issue 7, Porch's published figures and the cost of the
raw git operations (the floor). Modules, in the order a run uses them:

- :mod:`.seed`: the seed repositories, written straight with pygit2;
- :mod:`.floor`: raw pygit2 cost of create / propose / approve;
- :mod:`.server`: the server process, its memory, py-spy;
- :mod:`.client`: the HTTPS client; :mod:`.packages`: package contents sent to it;
- :mod:`.workloads`, :mod:`.watch`: the workloads;
- :mod:`.stats`: percentiles; :mod:`.report`: targets, JSON and table; :mod:`.run`: a run.
"""
