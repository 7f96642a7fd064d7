@main struct LitmusCommand { static func main() {} }
