from trnet.cli import main

main()
