# How the stages that fan out run their jobs (Kaldi's cmd.sh; sourced by ser.sh).
#   empty           here, in the recipe's own processes: stage 4's training jobs (one per
#                   system and fold, or member of an ensemble fold) --nj at once, each as
#                   soon as what it reads is trained (trnet run-jobs); stage 5 the decodes
#                   in the background (the default)
#   utils/run.pl    here too, as job arrays (stage 4: in waves, each the jobs whose inputs
#                   earlier waves train; stage 5: over the folds), one log per job:
#                   exp/<system>/log/train.<fold>[.<member>].log,
#                   exp/<system>/decode/log/decode.<fold>.log
#   utils/slurm.pl  Slurm: sbatch --array (--wait), with resources, e.g.
#     export train_cmd="utils/slurm.pl --mem 8G --time 4:00:00 --num-threads 4"
#     export cuda_cmd="utils/slurm.pl --gpu 1 --mem 16G --time 8:00:00"
#     export decode_cmd="utils/slurm.pl --mem 4G --time 1:00:00"
# train_cmd trains (stage 4) with --ngpu 0, cuda_cmd with --ngpu N > 0 (ser.sh adds
# --gpu N, and --num-nodes M for --num_nodes M); decode_cmd decodes (stage 5). A value
# set in the environment wins.
export train_cmd=${train_cmd:-}
export cuda_cmd=${cuda_cmd:-}
export decode_cmd=${decode_cmd:-}
