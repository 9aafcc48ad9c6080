from replicate_eval.cli import main

main()
