from replicate_eval.entry import main

main()
