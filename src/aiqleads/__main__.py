from aiqleads.cli import main

main()
