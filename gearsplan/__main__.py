from gearsplan.interface.cli import main

main()
