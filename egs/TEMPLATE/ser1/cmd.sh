# How jobs run. trnet parallelises inside Python (--nj), so "run.pl"-style local execution
# is all the recipe needs; set train_cmd to a wrapper (e.g. "srun --gres=gpu:1") on a cluster.
export train_cmd=""
export decode_cmd=""
