@main struct LitmusctlCommand { static func main() {} }
